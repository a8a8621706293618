"""Imports every domain's tables so ``Base.metadata`` is complete (Alembic, tests)."""

from kefu.accounts import models as accounts_models
from kefu.assistant import models as assistant_models
from kefu.channels import models as channels_models
from kefu.jobs import models as jobs_models
from kefu.kb import models as kb_models
from kefu.tickets import models as tickets_models
from kefu.trust import models as trust_models
from kefu.webhooks import models as webhooks_models

__all__ = ["accounts_models", "assistant_models", "channels_models", "jobs_models", "kb_models",
           "tickets_models", "trust_models", "webhooks_models"]
