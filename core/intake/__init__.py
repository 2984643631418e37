"""Intake (issue 27): versioned forms per appointment type (definition, forms, printout) and one
appointment's answers, files and consents."""
