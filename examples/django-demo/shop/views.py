"""The shop's views. None touches the database: routing is what the demo is about."""
from django.http import HttpResponse, JsonResponse
from django.utils import translation


def index(request):
    return HttpResponse("routewall django demo shop\n")


def product(request, pk):
    return JsonResponse({"id": pk, "name": f"product {pk}"})


def archive(request, year):
    return JsonResponse({"year": year, "products": []})


def about(request):
    return HttpResponse(f"about the shop ({translation.get_language()})\n")
