"""One router per page (or small family of pages); ``tocsin.ui.app`` includes them all."""
