"""Advocate-facing pages: join a programme, the dashboard, QR downloads.

Every query here is scoped to request.user. The dashboard reads referrals' selectors (allowed:
views sit on top of both apps).
"""

from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from referrals import selectors as referral_selectors

from .errors import ServiceError
from .forms import JoinForm
from .models import Advocate, Programme
from .offers import offer_summary
from .qr import qr_svg
from .selectors import advocacies_for_user, repcode_for_user
from .services import programme_join, user_has_verified_email


@require_http_methods(["GET", "POST"])
def programme_join_view(request, slug: str):
    programme = get_object_or_404(Programme, slug=slug)
    context = {
        "programme": programme,
        "offer": offer_summary(programme),
        "form": JoinForm(),
    }
    if not request.user.is_authenticated:
        return render(request, "advocacy/join.html", context)
    context["email_verified"] = user_has_verified_email(request.user)
    context["advocate"] = Advocate.objects.filter(user=request.user, programme=programme).first()
    if request.method == "GET":
        return render(request, "advocacy/join.html", context)

    form = JoinForm(request.POST)
    context["form"] = form
    if not form.is_valid():
        return render(request, "advocacy/join.html", context, status=400)
    try:
        programme_join(user=request.user, programme=programme, accept_terms=True)
    except ServiceError as exc:
        form.add_error(None, exc.message)
        return render(request, "advocacy/join.html", context, status=400)
    messages.success(request, f"Welcome to {programme.name}! Your code is ready to share.")
    return redirect("dashboard")


def _share_links(url: str, text: str) -> list[dict]:
    u, t = quote(url, safe=""), quote(text, safe="")
    return [
        {"name": "WhatsApp", "href": f"https://wa.me/?text={t}%20{u}"},
        {"name": "X", "href": f"https://x.com/intent/post?text={t}&url={u}"},
        {"name": "Facebook", "href": f"https://www.facebook.com/sharer/sharer.php?u={u}"},
        {"name": "LinkedIn", "href": f"https://www.linkedin.com/sharing/share-offsite/?url={u}"},
        {"name": "Email", "href": f"mailto:?subject={t}&body={u}"},
    ]


@login_required
def dashboard(request):
    advocacies = advocacies_for_user(request.user)
    if not advocacies:
        return render(request, "advocacy/dashboard_empty.html", {})
    slug = request.GET.get("programme")
    advocate = next((a for a in advocacies if a.programme.slug == slug), advocacies[0])
    codes = referral_selectors.advocate_codes(advocate)
    primary = codes[0] if codes else None
    share_text = f"{offer_summary(advocate.programme)} at {advocate.programme.name} with my code"
    weekly = referral_selectors.advocate_weekly_earnings(advocate)
    top = max((total for _, total in weekly), default=0)
    context = {
        "advocacies": advocacies,
        "advocate": advocate,
        "programme": advocate.programme,
        "codes": codes,
        "primary": primary,
        "share_url": primary.get_share_url() if primary else "",
        "share_links": _share_links(primary.get_share_url(), share_text) if primary else [],
        "qr_svg": qr_svg(primary.get_share_url()).decode() if primary else "",
        "stats": referral_selectors.advocate_stats(advocate),
        "recent": referral_selectors.advocate_recent_referrals(advocate),
        "weekly": [
            {"week": week, "total": total, "height": round(100 * total / top) if top else 0}
            for week, total in weekly
        ],
        "offer": offer_summary(advocate.programme),
    }
    return render(request, "advocacy/dashboard.html", context)


@login_required
def qr_download(request, code: str):
    rep = repcode_for_user(request.user, code)
    if rep is None:
        raise Http404("No such code.")
    response = HttpResponse(qr_svg(rep.get_share_url(), scale=10), content_type="image/svg+xml")
    response["Content-Disposition"] = f'attachment; filename="streetteam-{rep.code}.svg"'
    return response
