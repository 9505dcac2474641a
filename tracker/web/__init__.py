"""HTTP face of the tracker."""
