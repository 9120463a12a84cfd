"""Errors under /api/ as JSON: the programs reading the API cannot read our HTML error pages."""

from __future__ import annotations

from flask import Response, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

# API messages are for the developers of the programs that call it, so they stay in English.
MESSAGES = {
    400: ("bad_request", "The request is not valid."),
    404: ("not_found", "No such resource."),
    405: ("method_not_allowed", "This URL answers GET requests only."),
    429: ("rate_limited", "Too many requests. Wait a minute and try again."),
    500: ("server_error", "Something went wrong on our side. Try again later."),
}


class ApiError(Exception):
    """An error a view reports to the caller: its status, a code programs test and a message
    people read."""

    def __init__(self, status: int, code: str, message: str, **details) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def error_response(status: int, code: str, message: str, **details) -> Response:
    """The JSON body every API error has: {"error": code, "message": text, ...details}."""
    response = jsonify({"error": code, "message": message, **details})
    response.status_code = status
    # Open data: a page on another site may read the error as it reads the data.
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "no-store"
    return response


def http_error_response(error: HTTPException | int) -> Response:
    """An HTTP error raised anywhere (routing, the rate limiter, abort) as the API's JSON."""
    status = error if isinstance(error, int) else (error.code or 500)
    code, message = MESSAGES.get(status, ("error", "The request failed."))
    response = error_response(status, code, message)
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response
