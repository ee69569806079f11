"""Image data for search and retrain: the data modules recipes name as `hwnas.data.<Module>`."""

from hwnas.data.modules import (DATA_MODULES, Cifar10DataModule, DataError, DigitsDataModule, ImageDataModule,
                                ImageFolderDataModule)

__all__ = ["DATA_MODULES", "Cifar10DataModule", "DataError", "DigitsDataModule", "ImageDataModule",
           "ImageFolderDataModule"]
