//! Kernel filter plans: approvers and discarders.
