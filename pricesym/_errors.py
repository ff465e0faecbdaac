"""One exception family. Domain errors also subclass the matching built-in, so
`except ValueError` in user code keeps working."""


class PricesymError(Exception):
    """Base class of every error pricesym raises on purpose."""


class AssumptionError(PricesymError, ValueError):
    """An input is outside the domain a derivation or function declares."""


class ShapeError(PricesymError, ValueError):
    """Arrays or matrices of incompatible shapes."""


class ParseError(PricesymError, ValueError):
    """User text that is not an allowed expression."""


class UnknownNameError(PricesymError, LookupError):
    """A derivation, symbol or function name that is not known."""

    def __str__(self) -> str:  # LookupError would quote the message like a key
        return str(self.args[0]) if self.args else ""


class RegistryError(PricesymError, ValueError):
    """A derivation that cannot be registered or built as declared."""


class NotSupportedError(PricesymError, NotImplementedError):
    """A case with no rule yet; the message says where to add one."""


class CheckError(PricesymError, RuntimeError):
    """A numeric check that could not be carried out (not one that failed)."""


class ReportError(PricesymError, RuntimeError):
    """The report could not be written or compiled."""
