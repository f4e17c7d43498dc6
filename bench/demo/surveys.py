"""Demo survey answers: a relationship NPS about once a quarter from some contacts,
lower in the months before an account churns (see bench.demo)."""

from __future__ import annotations

import uuid
from datetime import date

import numpy as np
import pandas as pd
from django.utils import timezone

from accounts.models import Contact
from bench.demo import copy_rows

COMMENTS = {
    "promoter": [
        "Excelente suporte, resolveram tudo rápido.",
        "The reports save us hours every week.",
        "Ferramenta essencial para o nosso time.",
        "",
        "",
    ],
    "passive": ["Bom, mas poderia ter mais integrações.", "Works fine, a bit slow at times.", ""],
    "detractor": [
        "Muitos problemas com a sincronização.",
        "Support takes days to answer.",
        "O preço subiu e o valor não acompanhou.",
        "We barely use it anymore.",
        "",
    ],
}


def responses_generate(
    *, organization_id: int, customers: pd.DataFrame, seed: int, index: int, today: date
) -> int:
    """Write NPS responses for the demo accounts (`customers` from bench.demo);
    returns how many. Imported-style rows: no invitation, an import key."""
    rng = np.random.default_rng([seed, index, 7])
    today64 = np.datetime64(today, "D")
    contact_of = dict(
        Contact.objects.order_by("account_id", "id")
        .distinct("account_id")
        .values_list("account_id", "id")
    )
    signup = customers["signup"].to_numpy(dtype="datetime64[D]")
    churn_at = customers["churn_at"].to_numpy(dtype="datetime64[D]")
    end = np.where(customers["gone"].to_numpy(), churn_at, today64)
    days = np.maximum((end - signup).astype(int) - 30, 0)
    count = np.minimum(rng.poisson(days / 120), 4) * (rng.random(len(customers)) < 0.6)
    # A customer about to churn (its churn date ahead within 60 days) often answered
    # lately, unhappily.
    ahead = (churn_at - today64).astype(int)
    recent = ~customers["gone"].to_numpy() & (ahead > 0) & (ahead <= 60)
    recent &= rng.random(len(customers)) < 0.7
    row = np.concatenate([np.repeat(np.arange(len(customers)), count), np.flatnonzero(recent)])
    if row.size == 0:
        return 0
    on = signup[row] + (30 + rng.random(row.size) * days[row]).astype("timedelta64[D]")
    late = np.arange(row.size) >= row.size - int(recent.sum())
    on[late] = today64 - rng.integers(1, 21, int(late.sum())).astype("timedelta64[D]")
    base = np.clip(rng.normal(8.3, 1.4, len(customers)), 0, 10)[row]
    to_churn = (churn_at[row] - on).astype(int)
    score = base + rng.normal(0, 1.2, row.size) - np.where((to_churn >= 0) & (to_churn < 90), 4, 0)
    score = np.clip(np.rint(score), 0, 10).astype(int)
    band = np.where(score >= 9, "promoter", np.where(score >= 7, "passive", "detractor"))
    comment = [COMMENTS[b][int(rng.integers(len(COMMENTS[b])))] for b in band]
    seconds = rng.integers(9 * 3600, 20 * 3600, row.size).astype("timedelta64[s]")
    at = on.astype("datetime64[s]") + seconds
    account_ids = customers["account_id"].to_numpy()[row]
    now = timezone.now().isoformat()
    raw = rng.bytes(16 * row.size)
    copy_rows(
        "surveys_response",
        pd.DataFrame(
            {
                "organization_id": organization_id,
                "import_key": [
                    str(uuid.UUID(bytes=raw[i * 16 : (i + 1) * 16], version=4))
                    for i in range(row.size)
                ],
                "account_id": account_ids,
                "contact_id": [contact_of.get(int(a)) for a in account_ids],
                "kind": "nps",
                "score": score,
                "comment": comment,
                "touchpoint": "company",
                "automatic": False,
                "responded_at": np.char.add(np.datetime_as_string(at, unit="s"), "+00:00"),
                "updated_at": now,
            }
        ),
        blank=["comment", "touchpoint"],
    )
    return int(row.size)
