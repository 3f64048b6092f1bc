"""Pages of price compensations (placeholder until the pages land)."""

from django.http import HttpResponse


def agreement_list(request):
    return HttpResponse("")


def agreement_detail(request, pk):
    return HttpResponse("")


def declare(request, pk):
    return HttpResponse("")


def settlement_detail(request, pk):
    return HttpResponse("")
