"""Language selection: Spanish first, English when the user picks it.

Django's ``LocaleMiddleware`` follows the browser's ``Accept-Language``, so an official whose browser
is set to English would get English pages without asking. The web pages here are Spanish unless the
user chose another language with the language switch (``set_language`` → cookie). The HTTP API
(``/api/``) keeps Django's behaviour, so integrators may ask for messages with ``Accept-Language``.
"""

from django.conf import settings
from django.middleware.locale import LocaleMiddleware as DjangoLocaleMiddleware
from django.utils import translation

API_PREFIX = "/api/"


def chosen_language(request) -> str:
    """The language of the user's cookie when it is one of ``LANGUAGES``, else ``LANGUAGE_CODE``."""
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
    return chosen if chosen in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


class LocaleMiddleware(DjangoLocaleMiddleware):
    def process_request(self, request):
        if request.path_info.startswith(API_PREFIX):
            return super().process_request(request)
        translation.activate(chosen_language(request))
        request.LANGUAGE_CODE = translation.get_language()
        return None
