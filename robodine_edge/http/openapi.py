"""OpenAPI 3.1 document built from the route table and the pydantic models.

Nothing is written by hand per route: paths, parameters, bodies, responses, roles and
error codes all come from `RouteSpec`s, so /openapi.json always describes the
routes that are actually installed.
"""

from __future__ import annotations

from typing import Any, get_args, get_origin

from pydantic import BaseModel

from robodine_edge.http.routing import PATH_PARAM, RouteSpec
from robodine_edge.http.schemas import ErrorBody, OAuth2ErrorBody
from robodine_edge.types import ALL_ROLES

REF = "#/components/schemas/{model}"
ERROR_TEXT = {
    400: "Malformed request (bad JSON, wrong content type)",
    401: "Missing, invalid, expired or revoked token",
    403: "The caller's role may not do this",
    404: "Not found",
    409: "Conflicts with the current state",
    413: "Body over 1 MiB",
    422: "Invalid values; `fields` names each one",
    429: "Too many attempts",
    503: "A part of the service is not running",
    504: "A part of the service did not answer in time",
}
PARAM_TYPES = {"int": {"type": "integer"}, "str": {"type": "string"}, "float": {"type": "number"}}


class _Schemas:
    """Collects component schemas, each model once under its own name."""

    def __init__(self) -> None:
        self.components: dict[str, Any] = {}
        self._owners: dict[str, type[BaseModel]] = {}

    def ref(self, annotation: Any, mode: str = "serialization") -> dict[str, Any]:
        origin = get_origin(annotation)
        if origin in (list, tuple):
            return {"type": "array", "items": self.ref(get_args(annotation)[0], mode)}
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            raise TypeError(f"unsupported schema annotation {annotation!r}")
        name = annotation.__name__
        owner = self._owners.setdefault(name, annotation)
        if owner is not annotation:
            raise ValueError(f"two models are named {name}: rename one")
        if name not in self.components:
            self.components[name] = self.inline(annotation, mode)
        return {"$ref": REF.format(model=name)}

    def inline(self, model: type[BaseModel], mode: str = "validation") -> dict[str, Any]:
        """`model`'s own schema, the models it refers to put among the components (its
        references point there: a query model's enums once pointed to `#/$defs/...`,
        which the document does not have)."""
        schema = model.model_json_schema(ref_template=REF, mode=mode)  # type: ignore[arg-type]
        for def_name, definition in schema.pop("$defs", {}).items():
            self.components.setdefault(def_name, definition)
        return schema


def build_openapi(specs: list[RouteSpec], *, title: str, version: str) -> dict[str, Any]:
    schemas = _Schemas()
    error_ref = schemas.ref(ErrorBody)
    paths: dict[str, dict[str, Any]] = {}
    for spec in (spec for spec in specs if spec.in_schema):
        template = PATH_PARAM.sub(lambda m: "{" + m.group(1) + "}", spec.path)
        paths.setdefault(template, {})[spec.method.lower()] = _operation(spec, schemas, error_ref)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": "The HTTP API of robodine-edge. Log in with POST /api/auth/login, then send "
            "`Authorization: Bearer <token>`. Conventions, errors, idempotency and the WebSocket "
            "live updates (`/ws`) are described in the project's docs/API.md.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas.components,
            "securitySchemes": {
                "bearer": {
                    "type": "oauth2",
                    "flows": {"password": {"tokenUrl": "/api/auth/login", "scopes": {}}},
                }
            },
        },
        "tags": [{"name": tag} for tag in dict.fromkeys(spec.tag for spec in specs if spec.in_schema)],
    }


def _operation(spec: RouteSpec, schemas: _Schemas, error_ref: dict[str, Any]) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": spec.name,
        "tags": [spec.tag],
        "summary": spec.summary,
        "parameters": _parameters(spec, schemas),
        "responses": {str(spec.status): _success(spec, schemas)},
    }
    if spec.handler.__doc__:
        operation["description"] = " ".join(spec.handler.__doc__.split())
    if spec.roles is not None:
        operation["security"] = [{"bearer": []}]
        roles = ", ".join(sorted(role.value for role in spec.roles))
        operation["description"] = (operation.get("description", "") + f"\n\nRoles: {roles}.").strip()
    if spec.body is not None:
        content = {"application/json": {"schema": schemas.ref(spec.body, "validation")}}
        if spec.form is not None:
            content["application/x-www-form-urlencoded"] = {"schema": schemas.ref(spec.form, "validation")}
        # No body counts as `{}` (docs/API.md): a body is required only where `{}` is refused.
        required = any(field.is_required() for field in spec.body.model_fields.values())
        operation["requestBody"] = {"required": required, "content": content}
    for status in _error_statuses(spec):
        operation["responses"][str(status)] = _error(spec, status, schemas, error_ref)
    return operation


def _error(spec: RouteSpec, status: int, schemas: _Schemas, error_ref: dict[str, Any]) -> dict[str, Any]:
    text = ERROR_TEXT.get(status, "Error")
    if spec.form is None or status == 413:  # a body over 1 MiB is refused before the route
        return {"description": text, "content": {"application/json": {"schema": error_ref}}}
    text += "; a form login's error also carries OAuth2's `error_description`"
    return {"description": text, "content": {"application/json": {"schema": schemas.ref(OAuth2ErrorBody)}}}


def _parameters(spec: RouteSpec, schemas: _Schemas) -> list[dict[str, Any]]:
    params = [
        {"name": name, "in": "path", "required": True, "schema": PARAM_TYPES.get(kind, {"type": "string"})}
        for name, kind in spec.path_params
    ]
    if spec.query is not None:
        schema = schemas.inline(spec.query)
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            param = {"name": name, "in": "query", "required": name in required, "schema": _not_null(prop)}
            if name not in required:  # `?level=` is taken as no `level` at all (docs/API.md)
                param["allowEmptyValue"] = True
            params.append(param)
    if spec.query_token:
        params.append(
            {
                "name": "token",
                "in": "query",
                "required": False,
                "allowEmptyValue": True,
                "schema": {"type": "string"},
                "description": "Access token, for clients that cannot send headers",
            }
        )
    return params


def _not_null(prop: dict[str, Any]) -> dict[str, Any]:
    """A query parameter's schema without the `null` its model allows: a query string
    holds text, and a parameter left out is what `None` means."""
    options = [option for option in prop.get("anyOf", []) if option != {"type": "null"}]
    if "anyOf" not in prop or len(options) == len(prop["anyOf"]):
        return prop
    rest = {key: value for key, value in prop.items() if key != "anyOf" and not (key == "default" and value is None)}
    return {**rest, **options[0]} if len(options) == 1 else {**rest, "anyOf": options}


def _success(spec: RouteSpec, schemas: _Schemas) -> dict[str, Any]:
    if spec.status == 204:
        return {"description": "Done"}
    if spec.response is None:
        return {"description": "OK", "content": {spec.content_type: {}}}
    return {"description": "OK", "content": {spec.content_type: {"schema": schemas.ref(spec.response)}}}


def _error_statuses(spec: RouteSpec) -> list[int]:
    statuses = set(spec.errors)
    if spec.roles is not None:
        statuses.add(401)
        if spec.roles != ALL_ROLES:
            statuses.add(403)
    if spec.body is not None:
        statuses.update({400, 413, 422})
    if spec.query is not None:
        statuses.add(422)
    if spec.path_params:
        statuses.add(404)
    return sorted(statuses)
