"""The API's routes. Each app's api.py registers its own viewsets and views here when
csplatform/api_urls.py autodiscovers it (as the admin does), so this layer names none.

(Not in csplatform/api.py: DRF imports that module from its settings, before its own
routers can be imported.)
"""

from django.urls import URLPattern
from rest_framework.routers import SimpleRouter

router = SimpleRouter(trailing_slash=True, use_regex_path=False)
extra_routes: list[URLPattern] = []
