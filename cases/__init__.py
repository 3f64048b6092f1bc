"""The case kernel: what every case type and every engine app shares.

- ``cases.roles`` and ``cases.permissions``: the roles of PRODUCT.md §1 and ``require``/``allowed``;
- ``cases.money``: the one money type (model field options, parsing what people and clients write,
  formatting);
- ``cases.errors``: the domain errors (``Conflict``);
- ``cases.clock`` and ``cases.users``: today in La Paz, the named system actor;
- ``cases.forms``, ``cases.admin``, ``cases.serializers``: the shared form, admin and API helpers;
- ``cases.kinds``: the case-kind registry. A case app registers its kind in ``AppConfig.ready``;
  the engine apps (approvals, workflows, budget, reports, audit) reach cases only through it.

The kernel imports no other app of the project (``tests/test_architecture.py`` holds it).
"""
