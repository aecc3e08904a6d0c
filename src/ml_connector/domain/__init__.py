"""Pure domain: money, ids, normalized Amazon facts, planned Oracle documents, invariants."""
