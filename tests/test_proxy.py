"""What Quire believes of the forwarding headers behind QUIRE_PROXY_HOPS routers."""

from __future__ import annotations

from typing import Any

from web.proxy import Mode, ProxyFix


def scope(*headers: tuple[bytes, bytes]) -> dict[str, Any]:
    return {
        "type": "http",
        "scheme": "http",
        "client": ("10.0.0.2", 5123),
        "headers": [(b"host", b"app.internal:8000"), *headers],
        "state": {"kept": ["as it was"]},
    }


async def seen_by_app(mode: Mode, hops: int, given: dict[str, Any]) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.update(scope)

    await ProxyFix(app, mode, hops)(given, None, None)  # type: ignore[arg-type]
    return seen


async def test_legacy_mode_believes_the_last_hops_entries_only() -> None:
    given = scope(
        (b"x-forwarded-for", b"6.6.6.6, 203.0.113.9"),
        (b"X-Forwarded-Proto", b"http, https"),
        (b"x-forwarded-host", b"evil.example, blog.example"),
    )
    seen = await seen_by_app("legacy", 1, given)
    assert seen["client"] == ("203.0.113.9", 0)
    assert seen["scheme"] == "https"
    assert (b"host", b"blog.example") in seen["headers"]
    assert (b"host", b"app.internal:8000") not in seen["headers"]
    # The server's own scope is left as it was; the app's copy shares what it did not change.
    assert given["client"] == ("10.0.0.2", 5123) and given["scheme"] == "http"
    assert (b"host", b"app.internal:8000") in given["headers"]
    assert seen["state"] is given["state"]


async def test_two_hops_read_the_second_entry_from_the_right() -> None:
    seen = await seen_by_app(
        "legacy", 2, scope((b"x-forwarded-for", b"6.6.6.6, 198.51.100.4, 10.1.1.1"))
    )
    assert seen["client"] == ("198.51.100.4", 0)


async def test_repeated_headers_count_as_one_list() -> None:
    seen = await seen_by_app(
        "legacy",
        2,
        scope((b"x-forwarded-for", b"198.51.100.4"), (b"x-forwarded-for", b"10.1.1.1")),
    )
    assert seen["client"] == ("198.51.100.4", 0)


async def test_too_few_entries_leave_the_connection_as_it_is() -> None:
    seen = await seen_by_app("legacy", 2, scope((b"x-forwarded-for", b"203.0.113.9")))
    assert seen["client"] == ("10.0.0.2", 5123)
    assert seen["scheme"] == "http"


async def test_modern_mode_reads_forwarded_and_never_x_forwarded() -> None:
    forwarded = b'for=6.6.6.6;proto=http, for="[2001:db8::7]:4711";Proto=https;host=blog.example'
    seen = await seen_by_app(
        "modern",
        1,
        scope((b"forwarded", forwarded), (b"x-forwarded-for", b"192.0.2.1")),
    )
    assert seen["client"] == ("[2001:db8::7]:4711", 0)
    assert seen["scheme"] == "https"
    assert (b"host", b"blog.example") in seen["headers"]
    only_legacy = await seen_by_app("modern", 1, scope((b"x-forwarded-for", b"192.0.2.1")))
    assert only_legacy["client"] == ("10.0.0.2", 5123)


async def test_a_lifespan_scope_passes_unchanged() -> None:
    given = {"type": "lifespan", "headers": [(b"x-forwarded-for", b"203.0.113.9")]}
    assert await seen_by_app("legacy", 1, given) == given
