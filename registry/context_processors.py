from cases.roles import Role, is_staff_member, roles_of


def roles(request):
    user = getattr(request, "user", None)
    held = roles_of(user)
    return {
        "user_roles": sorted(held),
        "user_role_labels": [Role(r).label for r in Role.values if r in held],
        # Staff, internal control and administrators: the case list (``/cases/``) is in their menu.
        "sees_case_list": is_staff_member(user),
    }
