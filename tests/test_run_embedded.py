"""``manage.py run_embedded`` (``make run``) serves the static files as ``runserver`` does with
django.contrib.staticfiles: the pages' stylesheet and icon, in DEBUG."""

from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.test import Client, override_settings

from expediente.management.commands.run_embedded import Command


@override_settings(DEBUG=True)
def test_the_embedded_server_serves_the_stylesheet():
    handler = Command().get_handler(use_static_handler=True, insecure_serving=False)
    assert isinstance(handler, StaticFilesHandler)
    response = Client().get("/login/")  # the page links the stylesheet the handler serves
    assert b"/static/css/expediente.css" in response.content


def test_it_keeps_the_staticfiles_options():
    parser = Command().create_parser("manage.py", "run_embedded")
    options = parser.parse_args(["--nostatic"])
    assert options.use_static_handler is False
