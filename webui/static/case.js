// Scroll a wide case diagram so the current step is in view. The page works without this script.
document.addEventListener("DOMContentLoaded", function () {
  var box = document.getElementById("diagram");
  var current = box && box.querySelector(".escalated, .active");
  if (!current) { return; }
  var step = current.getBoundingClientRect();
  var view = box.getBoundingClientRect();
  box.scrollLeft += step.left - view.left - view.width / 3;
  box.scrollTop += step.top - view.top - view.height / 3;
});
