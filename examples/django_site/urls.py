"""URLs of the example site."""

from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("", views.hello),
    path("data", views.data),
]
