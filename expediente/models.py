"""The site has no models. This module exists so that Django sends ``post_migrate`` to the site's app
(``expediente.apps``: it creates the database cache's table after every ``migrate``)."""
