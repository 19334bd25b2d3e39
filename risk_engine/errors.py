"""The project's exceptions: one root, a few precise subclasses.

Every error that reaches a user carries enough to act on it: the file, and where it applies the row,
column and value that failed. This module imports nothing from web frameworks; the API maps these
classes to HTTP statuses in exactly one table (``risk_engine.api.problems``).
"""

from __future__ import annotations


class RiskEngineError(Exception):
    """Root of every error the engine raises on purpose."""


class InputError(RiskEngineError):
    """A user-supplied input cannot be used as given (usage or data problem; CLI exit code 2)."""


class UnreadableFileError(InputError):
    """A file cannot be read at all: wrong type, undecodable, empty, hostile (zip bomb, XML entities)."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class InputSchemaError(InputError):
    """A readable file whose header or cells do not fit the contract."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        row: int | None = None,
        column: str | None = None,
        value: object = None,
    ) -> None:
        self.path = path
        self.row = row
        self.column = column
        self.value = value
        where = ", ".join(
            part
            for part in (
                path or "",
                f"row {row}" if row is not None else "",
                f"column {column!r}" if column is not None else "",
                f"value {value!r}" if value is not None else "",
            )
            if part
        )
        super().__init__(f"{where}: {message}" if where else message)


class ReferenceDataError(RiskEngineError):
    """The shipped or user-supplied reference data is missing, corrupt or of the wrong edition."""


class ModelArtifactError(RiskEngineError):
    """A trained model artefact does not fit the code that loads it (features, versions, checksum)."""


class MethodologyError(RiskEngineError):
    """An unknown methodology version or an invalid parameter file."""


class RunError(RiskEngineError):
    """A batch run cannot proceed (output directory locked, incomplete earlier run, stage failure)."""


class NotFoundError(RiskEngineError):
    """A requested object does not exist for the caller (also used for another tenant's objects)."""


class PermissionDeniedError(RiskEngineError):
    """The caller is authenticated but its role does not allow the operation."""
