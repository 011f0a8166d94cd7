"""The linter knows Instagram's and LinkedIn's limits: an image is required and must have a
public url (Instagram downloads it), at most 30 hashtags, links are not clickable, 2,200
characters; LinkedIn 3,000 characters. Mutations of the clean base calendar of ``lintkit``."""

from __future__ import annotations

from tests.lintkit import BASE, codes, lint, replace

URL_IMAGE = ("    images:\n      - url: https://sede.example.org/cartel.jpg\n"
             "        alt: {es: Cartel de las ayudas, ca: Cartell de les ajudes}\n")
FILE_IMAGE = ("    images:\n      - file: cartel.jpg\n"
              "        alt: {es: Cartel de las ayudas, ca: Cartell de les ajudes}\n")
BOTH_IMAGE = ("    images:\n      - file: cartel.jpg\n"
              "        url: https://sede.example.org/cartel.jpg\n"
              "        alt: {es: Cartel de las ayudas, ca: Cartell de les ajudes}\n")


def on_instagram(images: str = URL_IMAGE, text: str = BASE) -> str:
    """The 'recordatorio' entry (no link) also published on Instagram, with ``images``."""
    text = replace("accounts: [x:ayto-test, bluesky:ayto-test]",
                   "accounts: [x:ayto-test, instagram:ayto-test]", text)
    return replace("    role: reminder\n", "    role: reminder\n" + images, text)


def findings(text: str, code: str):
    return [f for f in lint(text).findings if f.code == code]


def test_an_instagram_post_with_a_public_image_lints_clean():
    assert [f.format() for f in lint(on_instagram()).findings] == []


def test_an_instagram_post_without_an_image_is_an_error():
    text = replace("[x:ayto-test, bluesky:ayto-test]", "[x:ayto-test, instagram:ayto-test]")
    assert "image-required" in codes(text)


def test_an_image_with_only_a_file_is_an_error_for_instagram_because_it_fetches_by_url():
    (finding,) = findings(on_instagram(FILE_IMAGE), "image-needs-url")
    assert finding.severity == "error" and "url" in finding.hint
    line = on_instagram(FILE_IMAGE).splitlines().index("      - file: cartel.jpg") + 1
    assert finding.line == line


def test_an_image_with_only_a_file_is_fine_for_platforms_that_upload_it():
    text = replace("    role: reminder\n", "    role: reminder\n" + FILE_IMAGE)
    assert "image-needs-url" not in codes(text)


def test_an_image_with_file_and_url_goes_to_instagram_by_url_and_elsewhere_as_the_file():
    result = lint(on_instagram(BOTH_IMAGE))
    assert "image-needs-url" not in {f.code for f in result.findings}
    paths = {job.platform: [img.path for img in job.images] for job in result.jobs
             if job.entry == "recordatorio"}
    assert paths["instagram"] == ["https://sede.example.org/cartel.jpg"]
    assert paths["x"] == ["cartel.jpg"]


def hashtags(n: int) -> str:
    return " ".join(f"#Tag{i}" for i in range(n))


def test_more_than_thirty_hashtags_on_instagram_is_an_error_counting_the_calendars_own():
    # the calendar adds its hashtag (#Test): 29 + 1 is fine, 30 + 1 is one too many
    fine = replace("Quedan tres días:", f"Quedan tres días {hashtags(29)}:", on_instagram())
    assert "too-many-hashtags" not in codes(fine)
    many = replace("Quedan tres días:", f"Quedan tres días {hashtags(30)}:", on_instagram())
    (finding,) = findings(many, "too-many-hashtags")
    assert finding.severity == "error" and "31 hashtags" in finding.message


def test_many_hashtags_are_only_an_instagram_matter():
    text = replace("Quedan tres días:", f"Quedan tres días {hashtags(31)}:")
    assert "too-many-hashtags" not in codes(text)


def test_a_link_in_an_instagram_post_is_a_warning_because_it_is_not_clickable():
    text = replace("accounts: [x:ayto-test, facebook:ayto-test]",
                   "accounts: [x:ayto-test, instagram:ayto-test]")
    text = replace("    link: https://sede.example.org/ayudas\n",
                   "    link: https://sede.example.org/ayudas\n" + URL_IMAGE, text)
    (finding,) = findings(text, "link-not-clickable")
    assert finding.severity == "warning"


def test_an_instagram_caption_over_2200_characters_is_too_long():
    long = "Información detallada. " * 100  # 2,300 characters in each language
    text = replace("Quedan tres días:", long + "Quedan tres días:", on_instagram())
    assert any("instagram allows 2200" in f.message for f in findings(text, "too-long"))


def test_a_linkedin_post_over_3000_characters_is_too_long():
    long = "Información detallada. " * 70  # 1,610 per language, 3,200 combined
    text = replace("[x:ayto-test, bluesky:ayto-test]", "[x:ayto-test, linkedin:ayto-test]")
    text = replace("Quedan tres días:", long + "Quedan tres días:", text)
    text = replace("Queden tres dies:", long + "Queden tres dies:", text)
    assert any("linkedin allows 3000" in f.message for f in findings(text, "too-long"))


def test_instagram_gets_the_image_url_even_when_a_platform_given_files_comes_first_in_the_entry():
    # the compiler shares one rendering per language set; Facebook's (a file) must not be
    # reused for Instagram, which fetches its images by URL
    from tests.lintkit import BASE, lint, replace

    text = replace("    accounts: [x:ayto-test, facebook:ayto-test]\n",
                   "    accounts: [facebook:ayto-test, instagram:ayto-test]\n"
                   "    images:\n"
                   "      - file: cartel.png\n"
                   "        url: https://sede.example.org/cartel.jpg\n"
                   "        alt: {es: Cartel, ca: Cartell}\n", BASE)
    jobs = {j.account: j for j in lint(text).jobs if j.entry == "anuncio"}
    assert [i.path for i in jobs["instagram:ayto-test"].images] == ["https://sede.example.org/cartel.jpg"]
    assert jobs["facebook:ayto-test"].images[0].path.endswith("cartel.png")
