"""Oracle Fusion Cloud ERP client: pod URLs, auth, REST receivables, FBDI bulk imports, ESS.

Typical wiring::

    endpoint = FusionEndpoint.for_pod("acme", "us2")
    auth = ClientCredentialsAuth(token_url=..., client_id=..., client_secret=..., scope=...,
                                 http=http)
    with FusionClient(endpoint, auth) as client:
        Receivables(client).create_or_find_invoice(invoice)
        BulkImports(client).import_journals(request, batch_name=...)
"""

from ml_connector.remote.http.hosts import EndpointError
from ml_connector.remote.oracle.auth import (
    Authenticator,
    BasicAuth,
    ClientCredentialsAuth,
    JwtUserAssertionAuth,
)
from ml_connector.remote.oracle.bulk import (
    AutoInvoiceParameters,
    BulkImportRequest,
    JournalImportParameters,
    autoinvoice_request,
    journal_import_request,
)
from ml_connector.remote.oracle.client import REST_FRAMEWORK_VERSION, FusionClient
from ml_connector.remote.oracle.ess import EssJob, EssState
from ml_connector.remote.oracle.fbdi_autoinvoice import (
    AutoInvoiceDistribution,
    AutoInvoiceLine,
    LineKey,
    autoinvoice_files,
)
from ml_connector.remote.oracle.fbdi_gl import FbdiBuildError, GlInterfaceLine, gl_interface_csv
from ml_connector.remote.oracle.imports import (
    AutoInvoiceResult,
    BulkImports,
    ImportFailed,
    ImportNeedsAttention,
    ImportOutcome,
    ImportStillRunning,
    JournalBatch,
    JournalImportResult,
)
from ml_connector.remote.oracle.payloads import (
    CreditMemo,
    CreditMemoCreate,
    CreditMemoDistribution,
    CreditMemoLine,
    Flexfield,
    Invoice,
    InvoiceCreate,
    InvoiceDistribution,
    InvoiceLine,
    InvoiceLineTaxLine,
)
from ml_connector.remote.oracle.pod import (
    FusionEndpoint,
    token_url_for_identity_domain,
    token_url_override,
)
from ml_connector.remote.oracle.receivables import CreateOutcome, Receivables

__all__ = [
    "REST_FRAMEWORK_VERSION",
    "Authenticator",
    "AutoInvoiceDistribution",
    "AutoInvoiceLine",
    "AutoInvoiceParameters",
    "AutoInvoiceResult",
    "BasicAuth",
    "BulkImportRequest",
    "BulkImports",
    "ClientCredentialsAuth",
    "CreateOutcome",
    "CreditMemo",
    "CreditMemoCreate",
    "CreditMemoDistribution",
    "CreditMemoLine",
    "EndpointError",
    "EssJob",
    "EssState",
    "FbdiBuildError",
    "Flexfield",
    "FusionClient",
    "FusionEndpoint",
    "GlInterfaceLine",
    "ImportFailed",
    "ImportNeedsAttention",
    "ImportOutcome",
    "ImportStillRunning",
    "Invoice",
    "InvoiceCreate",
    "InvoiceDistribution",
    "InvoiceLine",
    "InvoiceLineTaxLine",
    "JournalBatch",
    "JournalImportParameters",
    "JournalImportResult",
    "JwtUserAssertionAuth",
    "LineKey",
    "Receivables",
    "autoinvoice_files",
    "autoinvoice_request",
    "gl_interface_csv",
    "journal_import_request",
    "token_url_for_identity_domain",
    "token_url_override",
]
