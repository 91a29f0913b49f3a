// Command xclose asks an X window to close as a window manager's close
// button does: a WM_DELETE_WINDOW message. The viewer's tests build it;
// xdotool of Debian 12 has no such command and the tests run with no window
// manager.
//
//	DISPLAY=:1 xclose WINDOW-ID
package main

/*
#cgo LDFLAGS: -lX11
#include <X11/Xlib.h>

static int close_window(unsigned long win) {
	Display *d = XOpenDisplay(NULL);
	if (d == NULL) return 1;
	XEvent e = {0};
	e.xclient.type = ClientMessage;
	e.xclient.window = win;
	e.xclient.message_type = XInternAtom(d, "WM_PROTOCOLS", False);
	e.xclient.format = 32;
	e.xclient.data.l[0] = XInternAtom(d, "WM_DELETE_WINDOW", False);
	e.xclient.data.l[1] = CurrentTime;
	Status ok = XSendEvent(d, win, False, NoEventMask, &e);
	XFlush(d);
	XCloseDisplay(d);
	return ok ? 0 : 2;
}
*/
import "C"

import (
	"fmt"
	"os"
	"strconv"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: xclose WINDOW-ID")
		os.Exit(2)
	}
	id, err := strconv.ParseUint(os.Args[1], 0, 64)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if rc := C.close_window(C.ulong(id)); rc != 0 {
		fmt.Fprintf(os.Stderr, "xclose: cannot reach the display or window (%d)\n", rc)
		os.Exit(1)
	}
}
