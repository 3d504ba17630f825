from .document_dataset import DocumentDataset
from .first_documents import FirstDocuments

__all__ = ["DocumentDataset", "FirstDocuments"]
