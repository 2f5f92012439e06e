"""The image viewer: OHIF's static build at /viewer/, reading only through /dicomweb."""
