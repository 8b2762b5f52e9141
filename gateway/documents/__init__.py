"""Documents the gateway generates itself (CCDs), served beside each vendor's resources."""
