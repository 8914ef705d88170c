"""Jekyll and Hugo template tags in imported bodies: what becomes Markdown, what is kept."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from components.template_tags import MAX_WARNINGS, Converted, convert


def converted(body: str) -> str:
    """The converted body, for tags that must convert without a warning."""
    result = convert(body)
    assert result.warnings == ()
    return result.body


def test_a_body_without_tags_comes_back_unchanged() -> None:
    body = (
        "# Title\n\nSome `code {x}` and a set {1, 2}, a lone {{ brace pair\n\n"
        "```python\nprint({'a': {'b': 1}})\n```\n\n> a quote with 100%\n"
    )
    assert convert(body) == Converted(body, ())


def test_an_empty_body_is_fine() -> None:
    assert convert("") == Converted("", ())


@pytest.mark.parametrize(
    "tag",
    [
        "{{< youtube 0RKpf3rK57I >}}",
        '{{< youtube id="0RKpf3rK57I" >}}',
        "{{< youtube id=0RKpf3rK57I >}}",
        "{{% youtube 0RKpf3rK57I %}}",
        "{{<youtube 0RKpf3rK57I>}}",
        "{{< youtube 0RKpf3rK57I />}}",
    ],
)
def test_a_youtube_shortcode_becomes_a_link_to_the_video(tag: str) -> None:
    assert converted(f"Watch:\n\n{tag}\n") == (
        "Watch:\n\n[Video on YouTube](https://www.youtube.com/watch?v=0RKpf3rK57I)\n"
    )


def test_a_youtube_title_labels_the_link_with_its_brackets_escaped() -> None:
    body = '{{< youtube id="w7Ft2ymGmfc" title="Hugo [in] two   minutes" autoplay=true >}}'
    assert converted(body) == (
        r"[Hugo \[in\] two minutes](https://www.youtube.com/watch?v=w7Ft2ymGmfc)"
    )


def test_a_youtube_id_that_is_no_id_is_kept_and_reported() -> None:
    body = '{{< youtube "x onload=alert(1)" >}}'
    result = convert(body)
    assert result.body == body
    assert result.warnings == (f"line 1: {body} left as it was",)


def test_a_vimeo_shortcode_becomes_a_link_to_the_video() -> None:
    assert converted("{{< vimeo 146022717 >}}") == "[Video on Vimeo](https://vimeo.com/146022717)"
    assert converted('{{< vimeo id="55073825" title="Cats" >}}') == (
        "[Cats](https://vimeo.com/55073825)"
    )


def test_a_figure_becomes_an_image_wrapped_in_its_link_with_its_caption_below() -> None:
    body = (
        "{{< figure\n"
        '  src="/images/zion.jpg"\n'
        '  alt="A photograph of Zion"\n'
        '  link="https://www.nps.gov/zion/index.htm"\n'
        '  caption="Zion National Park"\n'
        '  class="ma0 w-75"\n'
        ">}}\n"
    )
    assert converted(body) == (
        "[![A photograph of Zion](/images/zion.jpg)](https://www.nps.gov/zion/index.htm)\n"
        "*Zion National Park*\n"
    )


def test_a_figure_alt_falls_back_to_its_title_then_its_caption_then_nothing() -> None:
    assert converted('{{< figure src="a.png" title="Title" >}}') == "![Title](a.png)\n*Title*"
    assert converted('{{< figure src="a.png" caption="Cap" >}}') == "![Cap](a.png)\n*Cap*"
    assert converted("{{< figure src=a.png >}}") == "![](a.png)"


def test_a_figure_caption_with_stars_is_emphasised_with_underscores() -> None:
    body = '{{% figure src="a.png" alt="A" caption="the *best* one" %}}'
    assert converted(body) == "![A](a.png)\n_the *best* one_"


def test_a_figure_src_is_kept_as_written_even_with_spaces() -> None:
    body = '{{< figure src="my photos/a (1).png" alt="A" >}}'
    assert converted(body) == "![A](<my photos/a (1).png>)"


def test_a_figure_without_src_is_kept_and_reported() -> None:
    result = convert('{{< figure alt="nothing" >}}')
    assert result.body == '{{< figure alt="nothing" >}}'
    assert result.warnings == ('line 1: {{< figure alt="nothing" >}} left as it was',)


def test_a_hugo_highlight_becomes_a_fenced_block_with_its_code_verbatim() -> None:
    body = (
        "Before.\n"
        '{{< highlight go "linenos=table,hl_lines=2" >}}\n'
        "func main() {\n"
        '\tfmt.Println("{{ .Title }} {% if %}")\n'
        "}\n"
        "{{< /highlight >}}\n"
        "After.\n"
    )
    # Line numbers and highlighted lines come along, for the code block to show them.
    assert converted(body) == (
        'Before.\n```go {linenos="table", hl_lines="2"}\nfunc main() {\n'
        '\tfmt.Println("{{ .Title }} {% if %}")\n}\n```\nAfter.\n'
    )


def test_a_jekyll_highlight_becomes_a_fenced_block() -> None:
    body = "{% highlight ruby linenos %}\ndef foo\n  puts 'foo'\nend\n{% endhighlight %}\n"
    assert converted(body) == "```ruby {linenos=\"true\"}\ndef foo\n  puts 'foo'\nend\n```\n"


def test_the_fence_is_longer_than_any_backtick_run_in_the_code() -> None:
    body = "{% highlight markdown %}\n```js\nx = `y`\n```\n````\n{% endhighlight %}"
    assert converted(body) == "`````markdown\n```js\nx = `y`\n```\n````\n`````"


def test_a_highlight_within_a_line_gets_lines_of_its_own() -> None:
    body = "See {% highlight sh %}ls -la{% endhighlight %} here."
    assert converted(body) == "See \n```sh\nls -la\n```\n here."


def test_raw_markers_inside_a_highlight_go_and_leave_no_blank_line() -> None:
    body = "{% highlight liquid %}\n{% raw %}\n{{ page.title }}\n{% endraw %}\n{% endhighlight %}\n"
    assert converted(body) == "```liquid\n{{ page.title }}\n```\n"


def test_the_escaped_hugo_form_shows_the_shortcode_as_text() -> None:
    body = "Write {{</* youtube w7Ft2ymGmfc */>}} or {{%/* note */%}}."
    assert converted(body) == "Write {{< youtube w7Ft2ymGmfc >}} or {{% note %}}."


def test_a_gist_becomes_a_link_to_the_gist() -> None:
    assert converted("{{< gist spf13 7896402 >}}") == (
        "[Gist by spf13](https://gist.github.com/spf13/7896402)"
    )
    assert converted('{{< gist spf13 7896402 "img.html" >}}') == (
        "[img.html (gist by spf13)](https://gist.github.com/spf13/7896402)"
    )


@pytest.mark.parametrize(
    ("tag", "address"),
    [
        ('{{< ref "posts/my-post.md" >}}', "/my-post"),
        ('{{< relref "posts/my-post.md" >}}', "/my-post"),
        ('{{< ref "/blog/2023-05-01-Dated-Post.md#Part-2" >}}', "/dated-post#Part-2"),
        ('{{< ref "posts/My-Bundle/index.md" >}}', "/my-bundle"),
        ('{{< relref "notes/_index.md" >}}', "/notes"),
        ('{{< ref "posts/my-bundle/index.fr.md" >}}', "/my-bundle"),
        ('{{% relref path="other" %}}', "/other"),
        ('{{< ref "#see-also" >}}', "#see-also"),
    ],
)
def test_ref_and_relref_become_the_posts_address(tag: str, address: str) -> None:
    assert converted(f"[the post]({tag})") == f"[the post]({address})"


def test_a_ref_to_no_post_is_kept_and_reported() -> None:
    body = '{{< ref "images/cat.png" >}}'
    assert convert(body) == Converted(body, (f"line 1: {body} left as it was",))


def test_a_jekyll_link_becomes_the_posts_address() -> None:
    body = (
        "[one]({% link _posts/2023-01-05-name.md %}) "
        "[two]({% link about.md %}) "
        "[three]({%- link assets/guide.pdf -%})"
    )
    assert converted(body) == "[one](/name) [two](/about) [three](/assets/guide.pdf)"


def test_post_url_becomes_the_dated_address() -> None:
    body = "{% post_url 2010-07-21-name %} and {% post_url blog/2010-07-21-name %}"
    assert converted(body) == "/2010/07/21/name and /2010/07/21/name"


def test_a_post_url_without_a_date_is_kept_and_reported() -> None:
    result = convert("{% post_url about %}")
    assert result == Converted(
        "{% post_url about %}", ("line 1: {% post_url about %} left as it was",)
    )


def test_site_url_and_baseurl_vanish_so_links_are_site_relative() -> None:
    body = (
        "![a]({{ site.url }}{{ site.baseurl }}/assets/a.png) "
        "[b]({{site.baseurl}}{% link about.md %}) [c]({{- site.baseurl -}}/c)"
    )
    assert converted(body) == "![a](/assets/a.png) [b](/about) [c](/c)"


def test_raw_keeps_its_content_verbatim_without_converting_or_reporting_it() -> None:
    body = (
        "Before.\n"
        "{% raw %}\n"
        "{{ page.title }} {% include note.html %} {{< youtube abc >}} {{ site.baseurl }}\n"
        "{% endraw %}\n"
        "Inline {% raw %}{{ x }}{% endraw %} too.\n"
    )
    assert converted(body) == (
        "Before.\n"
        "{{ page.title }} {% include note.html %} {{< youtube abc >}} {{ site.baseurl }}\n"
        "Inline {{ x }} too.\n"
    )


def test_unknown_tags_are_kept_and_reported_with_their_line_in_the_file() -> None:
    body = (
        "Intro.\n"
        "{% include note.html %}\n"
        "\n"
        "Hello {{ page.title }} and {% assign x = 1 %}.\n"
        "{% if site.comments %}yes{% endif %}\n"
        "{{< tweet user=x id=1 >}}\n"
        "{{% notice warning %}}\n"
        "Careful.\n"
        "{{% /notice %}}\n"
    )
    result = convert(body, first_line=7)
    assert result.body == body
    assert result.warnings == (
        "line 8: {% include note.html %} left as it was",
        "line 10: {{ page.title }} left as it was",
        "line 10: {% assign x = 1 %} left as it was",
        "line 11: {% if site.comments %} left as it was",
        "line 11: {% endif %} left as it was",
        "line 12: {{< tweet user=x id=1 >}} left as it was",
        "line 13: {{% notice warning %}} left as it was",
        "line 15: {{% /notice %}} left as it was",
    )


def test_line_numbers_count_the_lines_of_converted_tags_as_written() -> None:
    body = "{{< figure\n  src=a.png\n>}}\n{% include x.html %}\n"
    result = convert(body, first_line=4)
    assert result.warnings == ("line 7: {% include x.html %} left as it was",)


def test_a_long_tag_is_shortened_in_its_warning() -> None:
    body = "{% include very-long-name.html " + "key=value " * 20 + "%}"
    (warning,) = convert(body).warnings
    shown = warning.removeprefix("line 1: ").removesuffix(" left as it was")
    assert len(shown) == 60
    assert shown.startswith("{% include very-long-name.html key=value")
    assert shown.endswith("…")


def test_an_unclosed_highlight_is_kept_and_reported_and_what_follows_still_converts() -> None:
    body = (
        "{{< highlight go >}}\nfunc main() {}\n"
        "{% highlight ruby %}\nputs 1\n"
        "{{< youtube 0RKpf3rK57I >}}\n"
    )
    result = convert(body, first_line=3)
    assert result.body == (
        "{{< highlight go >}}\nfunc main() {}\n"
        "{% highlight ruby %}\nputs 1\n"
        "[Video on YouTube](https://www.youtube.com/watch?v=0RKpf3rK57I)\n"
    )
    assert result.warnings == (
        "line 3: unclosed {{< highlight go >}} left as it was",
        "line 5: unclosed {% highlight ruby %} left as it was",
    )


def test_an_unclosed_raw_is_kept_and_reported() -> None:
    body = "a\n{% raw %}\n{{ site.baseurl }}/x\n"
    assert convert(body) == Converted(
        "a\n{% raw %}\n/x\n", ("line 2: unclosed {% raw %} left as it was",)
    )


def test_an_unterminated_tag_is_kept_and_reported() -> None:
    body = "One {{< youtube abc\nTwo {% include x.html\nThree {{< vimeo 1 >}}\n"
    result = convert(body)
    assert (
        result.body
        == "One {{< youtube abc\nTwo {% include x.html\nThree [Video on Vimeo](https://vimeo.com/1)\n"
    )
    assert result.warnings == (
        "line 1: unclosed {{< youtube abc left as it was",
        "line 2: unclosed {% include x.html left as it was",
    )


def test_tags_inside_markdown_code_fences_are_converted_like_the_generators_do() -> None:
    body = '```html\n<a href="{{ site.baseurl }}/x">{% include x %}</a>\n```\n'
    result = convert(body, first_line=10)
    assert result.body == '```html\n<a href="/x">{% include x %}</a>\n```\n'
    assert result.warnings == ("line 11: {% include x %} left as it was",)


@pytest.mark.parametrize(
    "unit",
    [
        "{{< youtube abc\n{% if x\n",
        "{{<{%{{%",
        "{{< highlight go >}}\n{% highlight py %}\n{% raw %}\n",
        "{{< x " + "a" * 500 + "\n",
        "{{ " + "b" * 3000,
    ],
)
def test_a_megabyte_of_unclosed_tags_is_kept_and_reported_in_one_pass(unit: str) -> None:
    # A quadratic scan would take hours here; a linear one takes a moment.
    body = unit * (1_000_000 // len(unit))
    result = convert(body)
    assert result.body == body
    # Every `{{<`, `{%` and `{{%` opens a tag that never closes; `{{` alone opens none.
    # The first MAX_WARNINGS are told, the rest counted in one line.
    tags = body.count("{{<") + body.count("{%")
    told = min(tags, MAX_WARNINGS)
    assert len(result.warnings) == told + (tags > told)
    if tags > told:
        assert result.warnings[-1] == (
            f"{tags - told} more tag(s) left as they were, not listed one by one"
        )


# --- how many are told --------------------------------------------------------------


def test_warnings_stop_after_twenty_with_a_line_saying_how_many_more() -> None:
    body = "".join(f"{{% include part-{number}.html %}}\n" for number in range(25))
    result = convert(body, first_line=3)
    assert result.body == body
    assert len(result.warnings) == MAX_WARNINGS + 1 == 21
    assert result.warnings[0] == "line 3: {% include part-0.html %} left as it was"
    assert result.warnings[19] == "line 22: {% include part-19.html %} left as it was"
    assert result.warnings[20] == "5 more tag(s) left as they were, not listed one by one"


def test_exactly_twenty_warnings_need_no_summary_line() -> None:
    body = "{% include x.html %}\n" * MAX_WARNINGS
    assert len(convert(body).warnings) == MAX_WARNINGS
    assert "more tag(s)" not in convert(body).warnings[-1]


# --- Hugo leaves {{ ... }} alone -------------------------------------------------------


def test_in_a_hugo_file_double_braces_are_text_and_not_reported() -> None:
    body = (
        "Go templates print with {{ .Title }} and {{- .Site.BaseURL -}}.\n"
        "{{ site.baseurl }}/x stays too.\n"
        "{{< youtube 0RKpf3rK57I >}}\n"
        "{{< tweet user=x id=1 >}}\n"
    )
    result = convert(body, hugo=True)
    assert result.body == (
        "Go templates print with {{ .Title }} and {{- .Site.BaseURL -}}.\n"
        "{{ site.baseurl }}/x stays too.\n"
        "[Video on YouTube](https://www.youtube.com/watch?v=0RKpf3rK57I)\n"
        "{{< tweet user=x id=1 >}}\n"
    )
    # Shortcodes are still Hugo's tags: one it cannot convert is still named.
    assert result.warnings == ("line 4: {{< tweet user=x id=1 >}} left as it was",)


def test_in_a_jekyll_file_double_braces_are_liquid_and_reported() -> None:
    body = "Hello {{ page.title }}.\n"
    assert convert(body, hugo=False).warnings == ("line 1: {{ page.title }} left as it was",)


# --- targets' own slugs -------------------------------------------------------------


def slugs(known: dict[tuple[str, str], str]) -> Callable[[str, str], str | None]:
    """A stand-in for the disk: the slug each (tag, path) target gives."""
    return lambda tag, path: known.get((tag, path))


def test_a_link_takes_the_targets_own_slug() -> None:
    body = "[one]({% link _posts/2023-01-05-name.md %}) [two]({% link about.md %})"
    known = {("link", "_posts/2023-01-05-name.md"): "chosen", ("link", "about.md"): "me"}
    assert convert(body, slug_of=slugs(known)) == Converted("[one](/chosen) [two](/me)", ())


def test_ref_and_relref_take_the_targets_own_slug_and_keep_the_anchor() -> None:
    body = '[a]({{< ref "posts/my-post.md#part" >}}) [b]({{< relref "other" >}})'
    known = {("ref", "posts/my-post.md"): "renamed", ("relref", "other"): "elsewhere"}
    assert convert(body, slug_of=slugs(known)).body == "[a](/renamed#part) [b](/elsewhere)"


def test_a_target_that_cannot_be_read_gives_the_slug_of_its_name() -> None:
    body = '{% link _posts/2023-01-05-name.md %} {{< ref "posts/my-post.md" >}}'
    assert convert(body, slug_of=slugs({})).body == "/name /my-post"


def test_post_url_leads_to_the_bare_slug_when_the_target_renames_itself() -> None:
    body = "{% post_url 2010-07-21-name %} {% post_url 2010-07-22-same %}"
    known = {("post_url", "2010-07-21-name"): "new-name", ("post_url", "2010-07-22-same"): "same"}
    assert convert(body, slug_of=slugs(known)).body == "/new-name /2010/07/22/same"
