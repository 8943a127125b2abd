//! Executes idrecon rules over normalized events and produces findings.
