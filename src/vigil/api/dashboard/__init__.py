"""The web dashboard (``GET /`` on the daemon's port): a live view of what Vigil sees.

Server-rendered HTML (:mod:`~vigil.api.dashboard.html` escapes everything that is not markup
built here), SVG charts drawn on the server, and one small script served as a file
(``static/dashboard.js``) for what must be live: the event stream (``/api/events/stream``),
refreshed panels, notices, and approving or denying proposals. With JavaScript off every panel
still reads; only the live parts and the decisions need it.

Security decisions:

- **The token** is typed once into the page's token field and kept in the tab's
  ``sessionStorage`` (gone when the tab closes). The script sends it only in the
  ``Authorization: Bearer`` header of the API's own ``POST /api/proposals/ID/approve|deny``,
  never in a URL, a cookie or a form field that is submitted; the server never logs it.
- **CSRF**: state changes only through ``POST`` with the token in a header. There is no cookie
  and no ambient credential, so a page on another site cannot make the browser act: it can
  neither read this origin's ``sessionStorage`` nor set ``Authorization`` on a cross-site
  request without a CORS preflight, which the daemon never grants. Reads are open on loopback,
  as the rest of the API.
- **Content-Security-Policy**: ``script-src 'self'`` and ``style-src 'self'`` with no inline
  script or style, nothing framed, forms only to this origin. Event data is untrusted (a test
  name may hold ``<script>``): the server escapes it, and the script builds live rows with text
  nodes only.
- **Spoken notices** are served only from ``$VIGIL_HOME/notifications/``, by request id
  (``ev_`` and 26 characters), after resolving the path: no other file can be named.

Modules: :mod:`~.routes` (the routes), :mod:`~.data` (the bounded reads), ``views_*`` (the
panels), :mod:`~.charts` and :mod:`~.timeline` (SVG), :mod:`~.page` (the frame),
:mod:`~.sources` (what the composition root hands in).
"""

from vigil.api.dashboard.routes import dashboard_routes
from vigil.api.dashboard.sources import Sources

__all__ = ["Sources", "dashboard_routes"]
