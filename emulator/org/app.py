"""The org's WSGI application (REST, OAuth, SOAP), served over HTTPS at ``instance_url``."""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from emulator.context import EmulatorContext


def make_org_app(ctx: EmulatorContext) -> object:
    """Build the WSGI app; the REST and SOAP resources are added by the org issue."""

    @Request.application  # type: ignore[misc]
    def app(request: Request) -> Response:
        if request.path.rstrip("/") == "/services/data":
            return Response(
                '[{"label":"Winter \'25","url":"/services/data/v62.0","version":"62.0"}]',
                mimetype="application/json",
            )
        return Response(
            '[{"errorCode":"NOT_FOUND","message":"The requested resource does not exist"}]',
            status=404, mimetype="application/json",
        )

    return app
