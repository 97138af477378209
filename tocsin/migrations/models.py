"""Every domain's ORM models, imported so the metadata is complete for migrations."""

from tocsin.allowlists import models as allowlist_models  # noqa: F401
from tocsin.audit import models as audit_models  # noqa: F401
from tocsin.auth import models as auth_models  # noqa: F401
from tocsin.db import sequences  # noqa: F401
from tocsin.db.base import Base
from tocsin.engine import models as engine_models  # noqa: F401
from tocsin.escalation import models as escalation_models  # noqa: F401
from tocsin.events import models as event_models  # noqa: F401
from tocsin.incidents import models as incident_models  # noqa: F401
from tocsin.maintenance import models as maintenance_models  # noqa: F401
from tocsin.notifications import models as notification_models  # noqa: F401
from tocsin.schedules import models as schedule_models  # noqa: F401
from tocsin.services import models as service_models  # noqa: F401
from tocsin.teams import models as team_models  # noqa: F401
from tocsin.ui import models as ui_models  # noqa: F401
from tocsin.users import models as user_models  # noqa: F401
from tocsin.webhooks import models as webhook_models  # noqa: F401

metadata = Base.metadata
