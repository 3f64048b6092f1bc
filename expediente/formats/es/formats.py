"""Spanish as written in Bolivia: ``60.949.269,00`` (dot for thousands, comma for decimals).

Django's generic ``es`` uses a non-breaking space for thousands; the agency's documents, the SIGEP and
the accountability report use a dot. Everything else follows Django's ``es`` locale.
"""

from django.conf.locale.es.formats import *  # noqa: F403

THOUSAND_SEPARATOR = "."
DECIMAL_SEPARATOR = ","
NUMBER_GROUPING = 3
