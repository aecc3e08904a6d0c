"""ml-connector: Amazon Seller Central → Oracle Fusion Cloud ERP.

The package is laid out along the data flow (DESIGN.md §8): ``domain`` (pure facts and rules),
``remote`` (the two HTTP clients), ``flow`` (extract → normalize → map → post → reconcile),
``store`` (what we remember) and ``run`` (how people drive it).
"""

__version__ = "0.1.0"
