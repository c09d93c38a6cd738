"""What every e-mail the portal sends has in common."""


def email_subject(text: str) -> str:
    """The subject on one line. Subjects carry names customers typed (an organization, a
    company); a line break in a header makes Django refuse the whole e-mail."""
    return " ".join(text.split())
