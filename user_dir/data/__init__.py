from .document_dataset import DocumentDataset

__all__ = ["DocumentDataset"]
