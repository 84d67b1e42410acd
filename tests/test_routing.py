from __future__ import annotations

from django.http import HttpResponse
from django.test import RequestFactory
from django.views import View
from django.views.decorators.http import require_GET, require_http_methods, require_safe
from hypothesis import given
from hypothesis import strategies as st

from strangler.routing import (
    decide,
    decide_request,
    view_methods,
)


def owner(method: str, path: str) -> str:
    return decide(method, path).owner


def test_decision_order(settings, rf: RequestFactory) -> None:
    settings.STRANGLER = {"ROUTES": {"/ported/": "flask", "/ported/**": "django"}}
    assert owner("GET", "/ported/") == "flask"  # first rule wins
    assert owner("GET", "/ported/more") == "django"
    assert owner("GET", "/items/3/") == "django"  # the URLconf resolves it
    assert owner("GET", "/items/x/") == "flask"  # it does not
    assert owner("GET", "/ported") == "django"  # "/x/**" covers "/x" itself
    settings.STRANGLER = {}
    assert owner("GET", "/ported") == "flask"  # no slash appended
    assert decide_request(rf.get("/items/3/")).owner == "django"


def test_rules_name_methods(settings) -> None:
    settings.STRANGLER = {
        "ROUTES": {"GET,HEAD /api/legacy/*": "django", "post /api/legacy/*": "shadow"}
    }
    assert owner("GET", "/api/legacy/1") == "django"
    assert owner("HEAD", "/api/legacy/1") == "django"
    assert owner("POST", "/api/legacy/1") == "shadow"  # lower case is upper-cased
    assert owner("PUT", "/api/legacy/1") == "flask"  # no rule, Django does not resolve it


def test_the_view_must_allow_the_method() -> None:
    # tests.urls: api_user allows GET and HEAD; ThingView defines only get().
    assert owner("GET", "/api/users/7") == "django"
    assert owner("HEAD", "/api/users/7") == "django"
    assert owner("PUT", "/api/users/7") == "flask"
    assert owner("DELETE", "/api/users/7") == "flask"
    assert owner("GET", "/api/things/7") == "django"
    assert owner("HEAD", "/api/things/7") == "django"  # View.setup: head follows get
    assert owner("OPTIONS", "/api/things/7") == "django"  # View.options always exists
    assert owner("POST", "/api/things/7") == "flask"


def test_view_methods() -> None:
    def plain(request):
        return HttpResponse()

    class OnlyPost(View):
        http_method_names = ["post", "get"]

        def post(self, request):
            return HttpResponse()

    assert view_methods(plain) is None
    assert view_methods(require_http_methods(["PUT", "PATCH"])(plain)) == frozenset(
        {"PUT", "PATCH"}
    )
    assert view_methods(require_GET(plain)) == frozenset({"GET"})
    assert view_methods(require_safe(plain)) == frozenset({"GET", "HEAD"})
    assert view_methods(OnlyPost.as_view()) == frozenset({"POST"})  # get named but not defined


def test_a_view_can_keep_its_refused_methods() -> None:
    def plain(request):
        return HttpResponse()

    class Logout(View):
        http_method_names = ["get", "post"]
        forward_refused_methods = False

        def get(self, request):
            return HttpResponse()

    assert view_methods(Logout.as_view()) is None  # every method: Django answers (405)
    guarded = require_GET(plain)
    guarded.forward_refused_methods = False  # type: ignore[attr-defined]
    assert view_methods(guarded) is None


def test_a_rule_wins_over_the_view_methods(settings) -> None:
    settings.STRANGLER = {"ROUTES": {"PUT /api/users/*": "django"}}
    assert owner("PUT", "/api/users/7") == "django"


def test_static_and_media_prefixes_are_djangos(settings) -> None:
    settings.STATIC_URL = "/static/"
    settings.MEDIA_URL = "/media/"
    assert decide("GET", "/static/admin/css/base.css").source == "static"
    # Counted under the prefix, not one traffic row per file.
    assert decide("GET", "/static/admin/css/base.css").route == "/static/**"
    assert decide("GET", "/media/a/b.png").route == "/media/**"
    assert owner("GET", "/media/uploads/a.png") == "django"
    assert owner("GET", "/staticky") == "flask"
    # A rule still wins: Flask may keep serving its own files under a prefix.
    settings.STRANGLER = {"ROUTES": {"/static/legacy/**": "flask"}}
    assert owner("GET", "/static/legacy/app.js") == "flask"
    assert owner("GET", "/static/admin/css/base.css") == "django"
    # A CDN URL is not a path prefix of this site.
    settings.STATIC_URL = "https://cdn.example/static/"
    assert owner("GET", "/static/admin/css/base.css") == "flask"


def test_route_label_is_the_pattern_not_the_path() -> None:
    assert decide("GET", "/api/users/7").route == "/api/users/<int:user_id>"
    assert decide("GET", "/api/users/8").route == "/api/users/<int:user_id>"
    assert decide("GET", "/nowhere/7").route == "(unmatched)"


def test_the_flask_rule_labels_forwarded_routes(settings) -> None:
    settings.STRANGLER = {**settings.STRANGLER, "FLASK_APP": "tests.porting_app:app"}
    assert decide("PUT", "/api/users/7").route == "/api/users/<int:user_id>"
    assert decide("GET", "/samples/5/edit").route == "/samples/<int:sample_id>/edit"
    assert decide("GET", "/samples/x/edit").route == "(unmatched)"


@given(
    method=st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]),
    path=st.text(alphabet=st.sampled_from("/a1.*%-_\n"), max_size=20).map(lambda p: "/" + p),
)
def test_any_path_gets_one_valid_owner(method: str, path: str) -> None:
    decision = decide(method, path)
    assert decision.owner in ("django", "flask", "shadow")
    assert decision.route
