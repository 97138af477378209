"""Every domain's ORM models, imported so the metadata is complete for migrations."""

from tocsin.auth import models as auth_models  # noqa: F401
from tocsin.db.base import Base
from tocsin.db import sequences  # noqa: F401
from tocsin.events import models as event_models  # noqa: F401
from tocsin.incidents import models as incident_models  # noqa: F401
from tocsin.schedules import models as schedule_models  # noqa: F401
from tocsin.services import models as service_models  # noqa: F401

metadata = Base.metadata
