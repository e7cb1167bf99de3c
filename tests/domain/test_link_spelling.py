"""A link's scheme and host are case-insensitive; the rest is the site's to read."""

from __future__ import annotations

import pytest

from mediabot.domain.links import normalise_link


@pytest.mark.parametrize(
    ("url", "normal"),
    [
        ("HTTPS://YOUTU.BE/dQw4w9WgXcQ", "https://youtu.be/dQw4w9WgXcQ"),
        (
            "https://WWW.YOUTUBE.COM/watch?v=dQw4w9WgXcQ&list=PLrAbC",
            "https://www.youtube.com/watch?v=dQw4w9WgXcQ&list=PLrAbC",
        ),
        ("https://Youtu.be/AbC#T=1", "https://youtu.be/AbC#T=1"),
        ("HTTP://Ann:PaSS@Example.COM:8080/Path?Q=A", "http://Ann:PaSS@example.com:8080/Path?Q=A"),
        ("https://[2001:DB8::1]:8443/X", "https://[2001:db8::1]:8443/X"),
        ("https://Пример.РФ/Путь", "https://пример.рф/Путь"),
        ("HTTPS://host.COM?x=Y", "https://host.com?x=Y"),
        ("FILE:///ETC/Passwd", "file:///ETC/Passwd"),
        ("mailto:Ann@Example.COM", "mailto:Ann@Example.COM"),
        ("not a link", "not a link"),
        ("https://[::1/x", "https://[::1/x"),
    ],
)
def test_scheme_and_host_in_lower_case_the_rest_as_it_came(url: str, normal: str) -> None:
    assert normalise_link(url) == normal
    assert normalise_link(normal) == normal
