"""Staff second factor: enrol a TOTP authenticator once, then enter its code each login."""

from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.exceptions import AccountError
from accounts.models import User


def totp_device_for(*, user: User) -> TOTPDevice:
    """The user's authenticator: the confirmed one, else one waiting to be confirmed."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()
    if device is None:
        device, _ = TOTPDevice.objects.get_or_create(
            user=user, confirmed=False, defaults={"name": "Authenticator app"}
        )
    return device


def totp_verify(*, request, token: str) -> TOTPDevice:
    """Check a code; the first good code confirms a new device. Marks the session verified."""
    device = totp_device_for(user=request.user)
    if not device.verify_token(token.strip().replace(" ", "")):
        raise AccountError(
            "That code is not right. Wait a few seconds (each wrong code adds a delay), "
            "check your authenticator's clock and try again.",
            code="otp_invalid",
        )
    if not device.confirmed:
        device.confirmed = True
        device.save(update_fields=["confirmed"])
    otp_login(request, device)
    # A new session key once the second factor is proven, so a key learnt before (a
    # fixation, or a password-only session that leaked) does not carry the verified state.
    request.session.cycle_key()
    return device
