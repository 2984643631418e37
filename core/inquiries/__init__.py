"""Inquiries: every call, walk-in, email or web request is one row; a booking made from it points
at it (inquiries.appointment_id: the one link); conversion counts them (core.metrics). The desk records,
books from and closes them (`services`); customers send booking requests through the door
(`public`), held until the desk confirms or declines them, or they lapse (`holds`)."""
