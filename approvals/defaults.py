"""Default approval policies and segregation-of-duties pairs (Bolivian practice; editable later).

- Initiatives up to Bs 200.000: legal report, then budget certification.
- Initiatives above Bs 200.000: legal report, budget certification, director's resolution.
- Transfers (public-private and public-public): technical report, legal report, budget
  certification and the top authority's resolution (required by budget rules for transfers).

``load(apps)`` takes a model registry so the data migration (historical models) and the
``post_migrate`` hook (after a test flush) share one definition.
"""

from itertools import combinations

CHAIN = [
    "technical_evaluation",
    "third_evaluation",
    "technical_report",
    "legal_report",
    "budget_certification",
    "director_resolution",
]


def load(apps):
    Policy = apps.get_model("approvals", "ApprovalPolicy")
    Step = apps.get_model("approvals", "PolicyStep")
    Pair = apps.get_model("approvals", "IncompatibleSteps")
    if Policy.objects.exists() or Pair.objects.exists():
        return

    def policy(family, name, case_type, min_amount, max_amount, steps):
        p = Policy.objects.create(
            family=family, name=name, case_type=case_type, min_amount=min_amount, max_amount=max_amount
        )
        for order, (step, role, scope, days, escalation) in enumerate(steps, 1):
            Step.objects.create(
                policy=p,
                order=order,
                step=step,
                role=role,
                scope=scope,
                deadline_days=days,
                escalation_role=escalation,
            )

    legal = ("legal_report", "legal", "none", 5, "director")
    certification = ("budget_certification", "finance", "program", 3, "director")
    resolution = ("director_resolution", "director", "none", 5, "director")
    technical = ("technical_report", "evaluator", "department", 10, "director")
    policy("ini-small", "Iniciativas hasta Bs 200.000", "initiative", 0, 200000, [legal, certification])
    policy(
        "ini-large",
        "Iniciativas mayores a Bs 200.000",
        "initiative",
        "200000.01",
        None,
        [legal, certification, resolution],
    )
    policy("trf-all", "Transferencias", "transfer", 0, None, [technical, legal, certification, resolution])

    reasons = {
        "chain": "Nadie decide dos pasos de la misma cadena de aprobación.",
        "evaluation": "Una evaluación por persona y caso.",
        "payment": "Quien ordena un pago no lo confirma.",
        "delivery": "Quien registra una entrega no la acepta.",
    }
    pairs = dict.fromkeys(combinations(CHAIN, 2), reasons["chain"])
    pairs[("technical_evaluation", "technical_evaluation")] = reasons["evaluation"]
    pairs[("third_evaluation", "third_evaluation")] = reasons["evaluation"]
    pairs[("payment_order", "payment_confirmation")] = reasons["payment"]
    pairs[("delivery_record", "delivery_acceptance")] = reasons["delivery"]
    for (a, b), reason in pairs.items():
        Pair.objects.create(step_a=a, step_b=b, reason=reason)
