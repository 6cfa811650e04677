"""The staff password policy: what attackers try first is refused (short, whitespace-only, common
or guessable passwords, the account's own e-mail or name). One rule for creating an account,
changing a password and resetting it.

Guessability is zxcvbn's estimate, computed offline from its bundled word lists.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from zxcvbn import zxcvbn

MIN_LENGTH = 12
MAX_LENGTH = 256
# zxcvbn's work grows quickly with length; past this many characters guessability is not the issue.
_ESTIMATE_CHARACTERS = 100
# zxcvbn's scores go from 0 (too guessable) to 4; 3 is "safely unguessable" for online attacks
# and protects well against an offline attack on a slow hash such as argon2.
MIN_SCORE = 3


class PasswordRefused(ValueError):
    """The password breaks the policy; `message` (lazily translated) says why."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


def check_password(password: str, *, email: str, name: str = "") -> None:
    """Raise PasswordRefused when `password` may not be used by the account of `email` and `name`."""
    if not password.strip():
        raise PasswordRefused(_l("The password cannot be only spaces."))
    if len(password) < MIN_LENGTH:
        raise PasswordRefused(_l("The password must have at least %(count)s characters.", count=MIN_LENGTH))
    if len(password) > MAX_LENGTH:
        raise PasswordRefused(_l("The password must have at most %(count)s characters.", count=MAX_LENGTH))
    if _contains_own_details(password, email, name):
        raise PasswordRefused(_l("The password cannot contain your email address or your name."))
    personal = [email, email.partition("@")[0], *name.split()]
    if zxcvbn(password[:_ESTIMATE_CHARACTERS], user_inputs=personal)["score"] < MIN_SCORE:
        raise PasswordRefused(
            _l(
                "That password is too easy to guess (a common password, a repeat, a sequence or a "
                "date). A phrase of three or four uncommon words is easier to remember and harder to guess."
            )
        )


def _squeezed(text: str) -> str:
    return "".join(text.casefold().split())


def _contains_own_details(password: str, email: str, name: str) -> bool:
    squeezed = _squeezed(password)
    local_part = email.partition("@")[0]
    details = [email, local_part if len(local_part) >= 4 else "", name if len(_squeezed(name)) >= 4 else ""]
    return any(detail and _squeezed(detail) in squeezed for detail in details)
