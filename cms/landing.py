"""Finding a programme's campaign page for /r/<CODE> (registered in CmsConfig.ready)."""

from advocacy.models import Programme
from cms.models import CampaignPage


def campaign_url_for(programme: Programme) -> str | None:
    page = CampaignPage.objects.live().public().filter(programme=programme).first()
    return page.get_url() if page else None
