"""Joining a programme. The advocate's dashboard, payouts and payout details show referral
money, so they live with it, in `referrals/dashboard/` (advocacy never imports referrals)."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from advocacy.forms import JoinForm
from advocacy.models import Advocate, Programme
from advocacy.offers import offer_summary
from advocacy.services import (
    programme_join,
    user_has_verified_email,
)
from kernel.errors import ServiceError


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
