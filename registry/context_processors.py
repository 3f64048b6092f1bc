from cases.roles import Role, roles_of


def roles(request):
    user = getattr(request, "user", None)
    held = roles_of(user)
    return {
        "user_roles": sorted(held),
        "user_role_labels": [Role(r).label for r in Role.values if r in held],
    }
