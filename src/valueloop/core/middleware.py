"""Content-Security-Policy: every script and style is ours, so the policy can be strict."""

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; "
    "form-action 'self'; object-src 'none'"
)
# ninja's Swagger UI page boots from an inline script; that page alone gets a looser policy.
DOCS_POLICY = POLICY.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            docs = request.path.startswith("/api/") and request.path.endswith("/docs")
            response["Content-Security-Policy"] = DOCS_POLICY if docs else POLICY
        return response


SMALL_FORM_BYTES = 1024 * 1024


def _content_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


class RejectNulCharactersMiddleware:
    """Answer 400 to a query string or form carrying NUL characters: no database can store them and
    PostgreSQL fails on them, so they are refused as bad input before any view runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "%00" in request.META.get("QUERY_STRING", "") or "\x00" in request.path:
            return self._refuse(request, "The request's URL contains a NUL character.")
        # Large multipart bodies (uploads) are left to the views, which cap their size before reading them.
        is_form = request.content_type == "application/x-www-form-urlencoded" or (
            request.content_type == "multipart/form-data" and _content_length(request) <= SMALL_FORM_BYTES
        )
        if request.method == "POST" and is_form and any("\x00" in v for _, vs in request.POST.lists() for v in vs):
            return self._refuse(request, "A form field contains a NUL character.")
        return self.get_response(request)

    @staticmethod
    def _refuse(request, message: str):
        from django.http import HttpResponseBadRequest, JsonResponse

        if request.path.startswith("/api/"):  # the API's one error shape
            return JsonResponse({"code": "bad_request", "message": message, "errors": []}, status=400)
        return HttpResponseBadRequest(message)
