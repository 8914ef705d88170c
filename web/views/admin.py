"""The writer's side: the list of posts with its actions, and the editor.

Every view here runs as one database transaction, committed before it answers and run
again from the start when it loses a race for the database (web/database.py).
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, abort, request, url_for
from werkzeug.datastructures import MultiDict

from components import broadcast, markdown, previews, render_pool, revisions, series, writing
from components.models import Post, PostKind, PostStatus, User, utcnow
from components.posts import is_public, post_status_label
from components.render_pool import RenderRefused
from components.text import parse_id
from components.writing import Action, Conflict, Draft, Filter, Invalid
from web import auth, notices, site
from web.database import get_db
from web.htmx import VARY, wants_fragment
from web.responses import fragment, render, see_other
from web.urls import pictures_in, post_url, taken_addresses

bp = Blueprint("admin", __name__, url_prefix="/admin")


async def _user() -> User:
    user = await auth.current_user()
    assert user is not None, "views here are behind login_required"
    return user


async def _own_post(post_id: int) -> tuple[User, Post]:
    """The post, if this user may edit it: 404 when there is none, 403 when not theirs."""
    user = await _user()
    post = await writing.for_editing(get_db(), post_id)
    if post is None:
        abort(404)
    if not writing.can_edit(user, post):
        abort(403)
    return user, post


def _address(post: Post) -> str:
    return post_url(post)


# --- the list ------------------------------------------------------------------


@bp.get("/")
@auth.login_required
async def posts() -> Response:
    """Your posts (an admin sees everyone's), filtered by state and words."""
    user = await _user()
    try:
        status = Filter(request.args.get("status", ""))
    except ValueError:
        abort(400, "Unknown status: use draft, scheduled or published.")
    query = request.args.get("q", "")[:200]
    found = await writing.for_admin(get_db(), user=user, status=status, query=query)
    return await render(
        "admin_posts.html",
        "partials/admin_posts.html",
        posts=found,
        shown=status,
        q=query,
        user=user,
        notice=notices.notice(),
    )


def _public_at(post: Post) -> str | None:
    """The post's absolute address if readers can see it now (before a change)."""
    if post.status is PostStatus.DRAFT or post.published_at is None:
        return None
    return post_url(post, _external=True) if post.published_at <= utcnow() else None


async def _row(post: Post) -> Response:
    return await fragment("partials/admin_post_row.html", post=post, user=await _user())


@bp.post("/posts/<int:post_id>/publish")
@auth.login_required
async def publish(post_id: int) -> Response:
    """Publish now (a scheduled post goes out at once)."""
    _, post = await _own_post(post_id)
    was_draft = post.status is PostStatus.DRAFT
    await writing.set_status(get_db(), post, Action.PUBLISH)
    await broadcast.after_save(get_db(), post, was_draft=was_draft, origin=site.origin())
    if wants_fragment():
        return await _row(post)
    return see_other(notices.url_with_notice("admin.posts", f"Published “{post.title}”."))


@bp.post("/posts/<int:post_id>/unpublish")
@auth.login_required
async def unpublish(post_id: int) -> Response:
    """Take a post back to draft; its address answers 404 until it is published again."""
    _, post = await _own_post(post_id)
    was_at = _public_at(post)
    await writing.set_status(get_db(), post, Action.DRAFT)
    await broadcast.after_save(get_db(), post, was_draft=True, origin=site.origin(), was_at=was_at)
    if wants_fragment():
        return await _row(post)
    return see_other(notices.url_with_notice("admin.posts", f"“{post.title}” is a draft again."))


@bp.get("/posts/<int:post_id>/delete")
@auth.login_required
async def confirm_delete(post_id: int) -> Response:
    """Without JavaScript, deleting asks on a page of its own."""
    _, post = await _own_post(post_id)
    return await render("admin_delete.html", "admin_delete.html", post=post)


@bp.post("/posts/<int:post_id>/delete")
@auth.login_required
async def delete(post_id: int) -> Response:
    _, post = await _own_post(post_id)
    title = post.title
    await broadcast.before_delete(get_db(), post, was_at=_public_at(post))
    await writing.delete(get_db(), post)
    if wants_fragment():
        # The row is removed in the page by `data-hx-swap="delete"`.
        response = Response("", 200)
        response.vary.update(VARY)
        return response
    return see_other(notices.url_with_notice("admin.posts", f"Deleted “{title}”."))


# --- the editor ----------------------------------------------------------------


def _draft_from(form: MultiDict[str, str]) -> Draft:
    try:
        action = Action(form.get("action", "draft"))
    except ValueError:
        action = Action.DRAFT
    return Draft(
        title=form.get("title", ""),
        slug=form.get("slug", ""),
        description=form.get("description", ""),
        tags=form.get("tags", ""),
        series=form.get("series", ""),
        in_reply_to=form.get("in_reply_to", ""),
        body=form.get("body", "").replace("\r\n", "\n"),
        comments_enabled=form.get("comments_enabled") == "on",
        share_enabled=form.get("share_enabled") == "on",
        action=action,
        publish_at=form.get("publish_at", ""),
        version=parse_id(form.get("version")),
        editor=form.get("editor", "")[:64] or Draft().editor,
        kind=PostKind.PAGE if form.get("kind") == PostKind.PAGE.value else PostKind.POST,
    )


async def _preview(body: str) -> dict[str, Any]:
    try:
        rendered = await render_pool.render(body, await pictures_in(body))
    except RenderRefused as refused:
        return {"html": "", "missing_alt": [], "problems": [], "refused": str(refused)}
    return {
        "html": rendered.html,
        "missing_alt": markdown.images_without_alt(rendered.html),
        "problems": rendered.problems,
    }


async def _editor(
    *,
    user: User,
    post: Post | None,
    draft: Draft,
    status: int = 200,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    conflict: Post | None = None,
) -> Response:
    db = get_db()
    context: dict[str, Any] = {
        "user": user,
        "post": post,
        "draft": draft,
        "errors": errors or {},
        "notice": notice,
        "conflict": conflict,
        "conflict_diff": revisions.diff(conflict.body, draft.body) if conflict else None,
        "preview": await _preview(draft.body),
        "series_names": await series.names_in_use(db) if draft.kind is PostKind.POST else [],
        "revisions": await revisions.of_post(db, post.id) if post else [],
        "autosaved": await revisions.unsaved_autosave(db, post) if post else None,
        "preview_links": await previews.for_post(db, post.id) if post else [],
    }
    response = await render("editor.html", "partials/editor.html", status=status, **context)
    if status != 200 and wants_fragment():
        # The form was posted to show a status line; a refusal replaces the whole form.
        response.headers["HX-Retarget"] = "#editor"
        response.headers["HX-Reswap"] = "outerHTML"
    return response


@bp.get("/posts/new")
@auth.login_required
async def new_post() -> Response:
    """An empty editor (`?kind=page` for a page); the post exists from its first save or
    autosave. Pages take no comments unless their writer says so."""
    is_page = request.args.get("kind") == PostKind.PAGE.value
    draft = Draft(
        comments_enabled=site.current().comments_default and not is_page,
        kind=PostKind.PAGE if is_page else PostKind.POST,
    )
    return await _editor(user=await _user(), post=None, draft=draft)


@bp.get("/posts/<int:post_id>/edit")
@auth.login_required
async def edit_post(post_id: int) -> Response:
    """The editor for a post; `?revision=` puts that revision's text back in the form."""
    user, post = await _own_post(post_id)
    draft = Draft.of(post, user.time_zone)
    notice = "Saved." if request.args.get("saved") else None
    if revision_id := request.args.get("revision", type=int):
        revision = await revisions.find(get_db(), post.id, revision_id)
        if revision is None:
            abort(404)
        draft.title, draft.description, draft.body = (
            revision.title,
            revision.description,
            revision.body,
        )
        notice = (
            f"The text of the revision from {revision.created_at:%Y-%m-%d %H:%M} UTC is in "
            "the editor. Save to keep it; leave to discard it."
        )
    return await _editor(user=user, post=post, draft=draft, notice=notice)


async def _post_for(form: MultiDict[str, str], draft: Draft) -> tuple[User, Post | None]:
    """The post a save is for: by id, or the one this editor already made."""
    if (post_id := parse_id(form.get("post_id"))) is not None:
        return await _own_post(post_id)
    user = await _user()
    post = await writing.started_by(get_db(), draft.editor)
    if post is not None and not writing.can_edit(user, post):
        abort(403)
    return user, post


@bp.post("/posts/save")
@auth.login_required
async def save_post() -> Response:
    """Save, publish or schedule. A refused save shows the form again, text intact."""
    form = await request.form
    draft = _draft_from(form)
    user, post = await _post_for(form, draft)
    db = get_db()
    was_draft = post is None or post.status is PostStatus.DRAFT
    was_at = _public_at(post) if post is not None else None
    try:
        saved = await writing.save(
            db,
            draft,
            post=post,
            author=user,
            address=_address,
            pictures=await pictures_in(draft.body),
            taken=taken_addresses(),
        )
    except Invalid as invalid:
        return await _editor(user=user, post=post, draft=draft, status=422, errors=invalid.errors)
    except Conflict as conflict:
        return await _conflict(user, draft, conflict)
    await broadcast.after_save(db, saved, was_draft=was_draft, origin=site.origin(), was_at=was_at)
    if not wants_fragment():
        return see_other(url_for("admin.edit_post", post_id=saved.id, saved=1))
    return await _saved(
        saved, draft, user, autosave=False, created=post is None, was_public=was_at is not None
    )


async def _conflict(user: User, draft: Draft, conflict: Conflict) -> Response:
    current = await writing.for_editing(get_db(), conflict.post_id)
    if current is None:
        abort(404)
    # The form comes back with their version number: saving again keeps this text.
    draft.version = current.version
    return await _editor(
        user=user,
        post=current,
        draft=draft,
        status=409,
        conflict=current,
        errors={"form": "Someone saved this post after you opened it."},
    )


async def _saved(
    post: Post,
    draft: Draft,
    user: User,
    *,
    autosave: bool,
    created: bool,
    was_public: bool | None = None,
) -> Response:
    """For htmx: a status line, and the pieces of the editor that a save changes. The
    preview links box only when the post is new or went public or back (not on every
    autosave, which would hide a new link before its writer copied it). `was_public`:
    whether readers could see the post before this save (None: the save cannot change it)."""
    draft.version = post.version
    links_changed = created or (was_public is not None and was_public != is_public(post))
    response = await fragment(
        "partials/editor_saved.html",
        post=post,
        draft=draft,
        user=user,
        autosave=autosave,
        revisions=await revisions.of_post(get_db(), post.id),
        status_label=post_status_label(post),
        live=autosave and post.status is not PostStatus.DRAFT and writing.is_live(post, draft),
        preview_links=await previews.for_post(get_db(), post.id) if links_changed else None,
    )
    if created:
        response.headers["HX-Replace-Url"] = url_for("admin.edit_post", post_id=post.id)
    return response


@bp.post("/posts/autosave")
@auth.login_required
async def autosave() -> Response:
    """Keep what is typed every few seconds. A draft is saved; a published post's text
    waits in its revisions, so that readers never see a half-written sentence."""
    form = await request.form
    draft = _draft_from(form)
    user, post = await _post_for(form, draft)
    try:
        saved = await writing.save(
            get_db(),
            draft,
            post=post,
            author=user,
            address=_address,
            autosave=True,
            pictures=await pictures_in(draft.body),
            taken=taken_addresses(),
        )
    except Invalid as invalid:
        return await _autosave_problem(422, "Not autosaved: " + " ".join(invalid.errors.values()))
    except Conflict:
        return await _autosave_problem(
            409,
            "Not autosaved: this post was changed elsewhere. Save to compare both versions.",
        )
    return await _saved(saved, draft, user, autosave=True, created=post is None)


async def _autosave_problem(status: int, message: str) -> Response:
    return await fragment(
        "partials/editor_status.html", status=status, message=message, problem=True
    )


@bp.post("/preview")
@auth.login_required
async def preview() -> Response:
    """The body rendered exactly as the post page will show it; nothing is saved.
    Without JavaScript the Preview button lands here and gets the whole editor back."""
    form = await request.form
    draft = _draft_from(form)
    if not wants_fragment():
        user, post = await _post_for(form, draft)
        return await _editor(user=user, post=post, draft=draft, notice="Preview only: not saved.")
    return await fragment("partials/preview.html", preview=await _preview(draft.body))


@bp.get("/tags/suggest")
@auth.login_required
async def suggest_tags() -> Response:
    """Existing tags that complete the last one being typed, as `<datalist>` options."""
    typed = request.args.get("tags", "")[:1000]
    done, _, last = typed.rpartition(",")
    names = await writing.tag_suggestions(get_db(), await _user(), last)
    prefix = f"{done}, " if done.strip() else ""
    return await fragment(
        "partials/tag_suggestions.html", options=[prefix + name for name in names]
    )


@bp.get("/posts/<int:post_id>/revisions/<int:revision_id>")
@auth.login_required
async def revision(post_id: int, revision_id: int) -> Response:
    """A revision against the post's current text."""
    _, post = await _own_post(post_id)
    found = await revisions.find(get_db(), post.id, revision_id)
    if found is None:
        abort(404)
    return await render(
        "revision.html",
        "partials/revision.html",
        post=post,
        revision=found,
        lines=revisions.diff(found.body, post.body),
    )


bp.add_app_template_global(post_status_label)


@bp.app_template_filter()
def local(moment: Any, time_zone: str) -> str:
    """A stored UTC time as the author reads it: in their own zone."""
    return writing.local_input(moment, time_zone).replace("T", " ") if moment else ""
