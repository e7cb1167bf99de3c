"""Facts about media files and the ffmpeg work done on them: probing, cutting, thumbnails."""
