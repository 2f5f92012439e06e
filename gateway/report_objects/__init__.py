"""The signed report stored back into its study in Orthanc (DICOM SR and Encapsulated PDF)."""
