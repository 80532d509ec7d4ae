"""Staff set up a second factor before the Wagtail admin opens (STREETTEAM_STAFF_MFA_REQUIRED)."""

from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse

# Who counts as staff: whoever Wagtail lets into its admin (superusers included).
ADMIN_ACCESS_PERMISSION = "wagtailadmin.access_admin"
# The admin page a staff member asked for when sent to set up an authenticator app; the
# recovery codes page that ends the setup links back to it (templates/mfa/recovery_codes/).
MFA_NEXT_SESSION_KEY = "streetteam_mfa_next"


class StaffMFARequiredMiddleware:
    """Send a signed-in staff user without an authenticator app from any admin page to allauth's
    TOTP setup, remembering the page asked for so the end of the setup leads back there. The
    admin is where payouts are approved and full IBANs are shown, so a stolen or
    guessed password alone must not open it. Sessions only come from allauth's login, which asks
    for the code of anyone who has set one up."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.admin_prefix = None

    def __call__(self, request):
        if settings.STREETTEAM_STAFF_MFA_REQUIRED and self._needs_mfa_setup(request):
            messages.warning(
                request,
                "Set up an authenticator app before you open the admin: it asks for a code "
                "from your phone each time you log in.",
            )
            if request.method == "GET":
                # Always an admin path on this site ("/admin/…"), so safe to link back to.
                request.session[MFA_NEXT_SESSION_KEY] = request.get_full_path()
            return redirect("mfa_activate_totp")
        if self._in_admin(request) and MFA_NEXT_SESSION_KEY in request.session:
            del request.session[MFA_NEXT_SESSION_KEY]  # back in the admin: nothing to lead to
        return self.get_response(request)

    def _in_admin(self, request) -> bool:
        if self.admin_prefix is None:
            self.admin_prefix = reverse("wagtailadmin_home")
        return request.path.startswith(self.admin_prefix)

    def _needs_mfa_setup(self, request) -> bool:
        user = request.user
        return (
            self._in_admin(request)
            and user.is_authenticated
            and user.has_perm(ADMIN_ACCESS_PERMISSION)
            and not is_mfa_enabled(user, [Authenticator.Type.TOTP])
        )
